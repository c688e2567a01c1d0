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
// reply), so it cuts short a call that no timeout would end, or one of several
// operations that together took longer. The call is answered 503 and its
// work is not cancelled: in the drain wait its command never left the
// process, and the connection it holds stays out of the pool; a commit
// without transactions cut short between its two writes leaves the version in
// history only, which the next writer rolls forward (store.ts writeVersion).
import { withDeadline } from '../../base/deadline';
import { StoreUnavailableError } from '../port';
import { DEFAULT_TIMEOUTS, type Timeouts } from './client-options';

/** The longest one driver call can take on these options' timeouts, in milliseconds. */
export function callDeadlineMs(options: Partial<Timeouts>): number {
  return (Object.keys(DEFAULT_TIMEOUTS) as Array<keyof Timeouts>).reduce((sum, key) => sum + (options[key] ?? 0), 0);
}

/** The call's result, or StoreUnavailableError (503) once ms have passed without one (0: no deadline). */
export function withCallDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  return withDeadline(work, ms, () => new StoreUnavailableError(`MongoDB did not answer ${what} within ${ms} ms`));
}
