import { formatEndpoint, type Endpoint } from '../../address.js';
import type { SharedStateStatus } from '../../state/shared-state.js';

/** What a chat server reports, for logs and tests. */
export type ChatEvent =
  | { type: 'joined'; peer: Endpoint; name: string }
  | { type: 'left'; peer: Endpoint; name: string; reason: string }
  | { type: 'message'; peer: Endpoint; name: string; text: string }
  | { type: 'nick'; peer: Endpoint; from: string; to: string }
  /** The link to the other instances (the shared state) was lost or restored. */
  | { type: 'link'; status: SharedStateStatus; location: string; reason?: string }
  | { type: 'rejected'; peer: Endpoint }
  | { type: 'denied'; peer: Endpoint };

/**
 * One log line per event.
 * @example formatChatEvent({ type: 'joined', peer: { address: '127.0.0.1', port: 40000, family: 'IPv4' }, name: '127.0.0.1:40000' }) // '127.0.0.1:40000 joined'
 */
export function formatChatEvent(event: ChatEvent): string {
  switch (event.type) {
    case 'joined':
      return `${formatEndpoint(event.peer)} joined`;
    case 'left':
      return `${formatEndpoint(event.peer)} left (${event.reason})`;
    case 'message':
      return `${event.name}: ${event.text}`;
    case 'nick':
      return `${formatEndpoint(event.peer)} is now ${event.to}`;
    case 'link':
      return event.status === 'down'
        ? `shared state ${event.location} unreachable (${event.reason ?? 'unknown'}): chat stays local until it is back`
        : `shared state ${event.location} ${event.status === 'up' ? 'reachable again: chat spans every instance' : 'closed'}`;
    case 'rejected':
      return `${formatEndpoint(event.peer)} rejected (server full)`;
    case 'denied':
      return `${formatEndpoint(event.peer)} denied (address not allowed)`;
  }
}
