// @ameide/sdk/mock: an in-memory backend for frontend and SDK tests (no server, no network, no Node module).
export { MockBackend } from "./backend.js";
export type { MockTransportOptions } from "./backend.js";
export type { FailOptions, Faults } from "./faults.js";
export type { MockUser } from "./identity.js";
export { MockNetwork } from "./network.js";
export type { MockBackendOptions, RecordedCall } from "./runtime.js";
export type { Identity } from "./state.js";
