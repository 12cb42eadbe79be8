import { h as saveState, j as getState } from './core.js';

const KEY = 'codex-action-run';
function saveRunState(state) {
    saveState(KEY, JSON.stringify(state));
}
function loadRunState() {
    const saved = getState(KEY);
    if (!saved)
        return undefined;
    try {
        return JSON.parse(saved);
    }
    catch {
        return undefined;
    }
}

export { loadRunState as l, saveRunState as s };
