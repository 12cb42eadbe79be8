import { P as cleanup, Q as loadRunState, i as info, d as warning } from './chunks/state.js';
import 'node:crypto';
import 'node:child_process';
import 'node:fs/promises';
import 'node:path';
import 'node:util';
import 'node:fs';
import 'node:net';
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

cleanup(loadRunState())
    .then((left) => {
    if (!left.length)
        info('The agent user, its folders and its processes are gone; the patch and logs stay in the run folder.');
})
    .catch((error) => warning(`Cleanup was incomplete: ${error.message}`));
