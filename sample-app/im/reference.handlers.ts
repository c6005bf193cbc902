import { Injectable } from '@nestjs/common';
import { OnLogin } from '../../lib';

/**
 * IM_DEMO=reference: the MobileIMSDK demo server's hooks. It accepts every
 * login and has no offline store (no @OnC2COffline, so offline C2C is not
 * ACKed). The library refuses all logins without an @OnLogin, hence this one.
 */
@Injectable()
export class ReferenceHandlers {
  @OnLogin()
  acceptAll(): number {
    return 0;
  }
}
