// A last bound on every call the server makes into the MongoDB driver.
//
// Why: the driver (7.9) can leave an operation waiting for ever. When the
// database closes a connection just as a command is written to it, Node has
// already destroyed the socket, so write() returns false and the driver waits
// for a 'drain' event, listening for 'drain' and 'error' only; a destroyed
// socket emits neither, and its 'close' reaches the connection after the wait
// began, when there is no reader left to fail. Seen in the outage test (the
// database stopped under load): about one run in four with a 3 s socket
// timeout, one request unanswered until its client gave up. No timeout of the
// driver covers that wait, short of its experimental timeoutMS.
//
// The deadline is the longest one call can take on the driver's own timeouts
// (waiting for a server, for a connection of the pool, to open one, and for a
// reply), so it cuts short only a call that no timeout would end. The call is
// answered 503; its command never left the process, and the connection it
// holds stays out of the pool.
import { StoreUnavailableError } from '../port';

/** The longest one driver call can take on these options' timeouts, in milliseconds. */
export function callDeadlineMs(options: {
  serverSelectionTimeoutMS?: number;
  waitQueueTimeoutMS?: number;
  connectTimeoutMS?: number;
  socketTimeoutMS?: number;
}): number {
  const { serverSelectionTimeoutMS = 0, waitQueueTimeoutMS = 0, connectTimeoutMS = 0, socketTimeoutMS = 0 } = options;
  return serverSelectionTimeoutMS + waitQueueTimeoutMS + connectTimeoutMS + socketTimeoutMS;
}

/** The work's result, or StoreUnavailableError once ms have passed without one (0: no deadline). */
export function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  if (ms <= 0) return work;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreUnavailableError(`MongoDB did not answer ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
