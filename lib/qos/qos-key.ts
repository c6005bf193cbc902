/**
 * Key of a (user, fingerprint) pair in the QoS tables. Both parts are client
 * strings, so a plain separator could be forged; a length prefix cannot.
 */
export function qosKey(userId: string, fp: string): string {
  return userId.length + ':' + userId + fp;
}
