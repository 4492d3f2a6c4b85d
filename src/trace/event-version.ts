/** The `v` field of every JSON event and JSONL log line; raised when a field changes meaning or goes away. */
export const JSON_EVENTS_VERSION = 1;
