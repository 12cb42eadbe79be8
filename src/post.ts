import * as core from '@actions/core'
import { loadRunState } from './state.js'

const state = loadRunState()
if (state?.cleanedUp) {
  // The usual end: main removed everything, so nothing more is loaded than it takes to say so.
  core.info('Nothing to clean up: the main step already removed the agent user, its folders and its processes.')
} else {
  const { cleanup } = await import('./cleanup.js')
  await cleanup(state)
    .then((left) => {
      if (!left.length) core.info('The agent user, its folders and its processes are gone; the patch and logs stay in the run folder.')
    })
    .catch((error: Error) => core.warning(`Cleanup was incomplete: ${error.message}`))
}
