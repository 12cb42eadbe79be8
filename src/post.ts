import * as core from '@actions/core'
import { cleanup } from './cleanup.js'
import { loadRunState } from './state.js'

cleanup(loadRunState()).catch((error: Error) => core.warning(`Cleanup was incomplete: ${error.message}`))
