// The emulator's defaults, in a module without dependencies: the stack (local/stack) imports these as
// `@local/eventhubs-emulator/defaults` to know where a default emulator listens without loading the
// AMQP server (rhea) it runs as a child process. The entry (index.ts) exports them too.

/** The port Event Hubs serves plain AMQP on (the official emulator's too). */
export const DEFAULT_AMQP_PORT = 5672;
/** The AMQPS port; Python's azure-eventhub always dials it, whatever the Endpoint's port says. */
export const DEFAULT_TLS_PORT = 5671;
/** Azure serves AMQP over WebSockets on 443, which needs privileges locally. */
export const DEFAULT_WEBSOCKET_PORT = 5443;
export const DEFAULT_HEALTH_PORT = 5300;
export const DEFAULT_RETENTION_MS = 60 * 60 * 1000;
export const DEFAULT_RETENTION_BYTES = 64 * 1024 * 1024;
