import { i as info, m as identityForCleanup, o as writeRepositoryConfig, p as loadRunState, w as warning } from './chunks/state.js';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import 'node:child_process';
import 'node:os';
import 'node:path';
import 'node:stream/promises';
import 'node:util';
import 'os';
import 'crypto';
import 'fs';
import 'path';
import 'http';
import 'https';
import 'net';
import 'tls';
import 'events';
import 'assert';
import 'util';
import 'node:assert';
import 'node:net';
import 'node:http';
import 'node:stream';
import 'node:buffer';
import 'node:querystring';
import 'node:events';
import 'node:diagnostics_channel';
import 'node:tls';
import 'node:zlib';
import 'node:perf_hooks';
import 'node:util/types';
import 'node:worker_threads';
import 'node:url';
import 'node:async_hooks';
import 'node:console';
import 'node:dns';
import 'string_decoder';
import 'child_process';
import 'timers';

/**
 * The post step, run whatever happened in main: stops what the agent left running, hands back what
 * it was lent, puts the repository config back, and removes every file that held a secret.
 * Idempotent: anything already gone is simply skipped.
 */
async function cleanup(state) {
    if (!state)
        return info('Nothing to clean up: the main step did not get as far as preparing Codex.');
    const identity = await identityForCleanup(state.isolation, state.agentUser, state.lent);
    await identity.signalAll(undefined, 'SIGKILL');
    await identity.handBack();
    await identity.remove();
    if (state.gitConfigFile && state.gitConfigBackup && existsSync(state.gitConfigBackup)) {
        await writeRepositoryConfig(state.gitConfigFile, await readFile(state.gitConfigBackup));
        info(`Put the repository config back at ${state.gitConfigFile}.`);
    }
    for (const secretBearing of [state.codexHome, state.agentHome, state.gitConfigBackup]) {
        if (secretBearing)
            await rm(secretBearing, { recursive: true, force: true });
    }
    info(`Removed CODEX_HOME (${state.codexHome}) and the agent's home; the patch and logs stay in ${state.runRoot}/output.`);
}

cleanup(loadRunState()).catch((error) => warning(`Cleanup was incomplete: ${error.message}`));
