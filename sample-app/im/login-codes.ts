/** Login code for a refused login; the protocol reserves 0-1024 for the framework. No Nest import: the chat page bundles it. */
export const BAD_CREDENTIALS = 1025;
