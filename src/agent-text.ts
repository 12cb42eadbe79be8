import * as core from '@actions/core'
import { randomBytes } from 'node:crypto'

/**
 * Prints text the agent wrote or chose (its messages, its commands, file names) to the job log as
 * plain text. The runner reads `::name::` and `##[name]` at the start of any line as workflow
 * commands, so the lines go out between `::stop-commands::<token>` and `::<token>::`, with a fresh
 * random token the agent cannot know, in one write so that nothing else lands inside the block.
 */
export function printAgentText(lines: string[]): void {
  const token = randomBytes(16).toString('hex')
  // The runner splits lines at CR as well as LF.
  const text = lines.flatMap((line) => line.split(/\r\n|\r|\n/))
  core.info([`::stop-commands::${token}`, ...text, `::${token}::`].join('\n'))
}

/** Agent text for the job summary, which GitHub renders as Markdown with HTML: shown as text, never as markup. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}
