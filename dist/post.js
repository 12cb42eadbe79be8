import { i as info, w as warning } from './chunks/core.js';
import { l as loadRunState } from './chunks/state.js';
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
import 'string_decoder';
import 'child_process';
import 'timers';

const state = loadRunState();
if (state?.cleanedUp) {
    // The usual end: main removed everything, so nothing more is loaded than it takes to say so.
    info('Nothing to clean up: the main step already removed the agent user, its folders and its processes.');
}
else {
    const { cleanup } = await import('./chunks/cleanup.js').then(function (n) { return n.A; });
    await cleanup(state)
        .then((left) => {
        if (!left.length)
            info('The agent user, its folders and its processes are gone; the patch and logs stay in the run folder.');
    })
        .catch((error) => warning(`Cleanup was incomplete: ${error.message}`));
}
