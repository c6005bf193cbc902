/** Injection token of the {@link IMBridge}, or null when `bridge` is not configured. */
export const IM_BRIDGE = Symbol('nestjs-im:bridge');
