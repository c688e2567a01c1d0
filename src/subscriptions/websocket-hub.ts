// Websocket channel bindings held by this process (R4B websockets,
// subscriptions backport channels.html#websockets): a client asks
// $get-ws-binding-token, connects, and sends "bind-with-token <token>"; from
// then on every event of the subscription is pushed to it. Events are read
// from the store, so whichever process recorded them, the process holding
// the socket delivers them; a socket starts at the events recorded when it
// bound (earlier ones are fetched with $events).
export interface SocketBinding {
  subscriptionId: string;
  /** The newest event number sent on this socket. */
  position: number;
  send(text: string): void;
}

export class WebSocketHub {
  private readonly bindings = new Set<SocketBinding>();

  add(binding: SocketBinding): () => void {
    this.bindings.add(binding);
    return () => this.bindings.delete(binding);
  }

  /** The bindings, grouped by subscription. */
  bySubscription(): Map<string, SocketBinding[]> {
    const groups = new Map<string, SocketBinding[]>();
    for (const b of this.bindings) groups.set(b.subscriptionId, [...(groups.get(b.subscriptionId) ?? []), b]);
    return groups;
  }
}
