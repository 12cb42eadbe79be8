/**
 * Why apply will not land the agent's work, raised before anything is written: the step fails,
 * the repository and the remote stay as they were, and `paths` (the offending ones, if any) become
 * the `refused-paths` output and the comment's list.
 */
export class Refusal extends Error {
  constructor(
    message: string,
    readonly paths: string[]
  ) {
    super(message)
    this.name = 'Refusal'
  }
}
