// The one live connection: WebSocket pushes go into the store; after each (re)connect the
// whole state is replaced by a fresh snapshot, so nothing stale survives a reconnect.

import { HubSocket, get } from './api.js';
import { store } from './store.js';

export const socket = new HubSocket();

/** Hidden for longer than this → ask for a fresh snapshot when the page is shown again. */
const RESYNC_AFTER_HIDDEN_MS = 30000;
let hiddenSince = 0;

socket.addEventListener('snapshot', (ev) => {
  store.setSnapshot(/** @type {CustomEvent} */ (ev).detail);
  refreshRooms();
});
socket.addEventListener('event', (ev) => store.applyEvent(/** @type {CustomEvent} */ (ev).detail));
socket.addEventListener('status', (ev) => store.setConnection(/** @type {CustomEvent} */ (ev).detail));
socket.addEventListener('maybe-unauthorized', async () => {
  try {
    await get('/api/auth/me');
  } catch (err) {
    if (/** @type {any} */ (err).status === 401) {
      socket.stop();
      store.setUser(null);
    }
  }
});

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'hidden') {
    hiddenSince = Date.now();
    return;
  }
  if (socket.stopped) return;
  if (socket.status !== 'online') socket.reconnectNow();
  else if (hiddenSince && Date.now() - hiddenSince > RESYNC_AFTER_HIDDEN_MS) socket.resync().catch(() => {});
  hiddenSince = 0;
});
window.addEventListener('online', () => {
  if (!socket.stopped && socket.status !== 'online') socket.reconnectNow();
});

export async function refreshRooms() {
  try {
    const data = await get('/api/rooms');
    store.setRooms(data.rooms ?? []);
  } catch {
    /* rooms stay as they were; the next snapshot tries again */
  }
}

export function startLive() {
  socket.start();
}

export function stopLive() {
  socket.stop();
}
