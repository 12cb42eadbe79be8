import * as core from '@actions/core'
import { cleanup } from './cleanup.js'
import { loadRunState } from './state.js'

cleanup(loadRunState())
  .then((left) => {
    if (!left.length) core.info('The agent user, its folders and its processes are gone; the patch and logs stay in the run folder.')
  })
  .catch((error: Error) => core.warning(`Cleanup was incomplete: ${error.message}`))
