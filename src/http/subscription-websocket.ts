// The websocket channel's endpoint (ws package): a client connects to
// WEBSOCKET_PATH and sends "bind-with-token <token>" (from
// $get-ws-binding-token); the server answers with a handshake Bundle and then
// pushes each notification Bundle as a text message. The token is the
// credential: it was issued to the subscription's owner, and is short-lived.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { WEBSOCKET_PATH } from '../fhir/operations/ws-binding-token';
import type { SubscriptionService } from '../subscriptions/service';

/** Largest message a client may send (a bind command is short). */
const MAX_CLIENT_MESSAGE = 4096;

export interface SubscriptionSockets {
  /** For the HTTP server's 'upgrade' event. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): Promise<void>;
}

export function subscriptionSockets(service: SubscriptionService): SubscriptionSockets {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_MESSAGE });
  wss.on('connection', (ws: WebSocket) => {
    const unbinds: Array<() => void> = [];
    ws.on('message', (data) => {
      const text = data.toString();
      const match = /^bind-with-token (\S+)$/.exec(text.trim());
      if (!match) {
        ws.send(JSON.stringify({ error: 'Send "bind-with-token <token>" with a token from Subscription/[id]/$get-ws-binding-token' }));
        return;
      }
      service
        .bind(match[1], (message) => ws.send(message))
        .then(
          ({ handshake, unbind }) => {
            unbinds.push(unbind);
            ws.send(handshake);
          },
          (err: Error) => ws.send(JSON.stringify({ error: err.message }))
        );
    });
    ws.on('close', () => unbinds.forEach((unbind) => unbind()));
    ws.on('error', () => ws.terminate());
  });
  return {
    upgrade(req, socket, head) {
      if (new URL(req.url ?? '/', 'http://localhost').pathname !== WEBSOCKET_PATH) {
        socket.destroy();
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}
