import { ExecutionContext, Logger, NotFoundException, UnauthorizedException, UnsupportedMediaTypeException } from '@nestjs/common';
import { AdminAuth } from '../../sample-app/admin/admin-auth.service';
import { AdminTokenGuard } from '../../sample-app/admin/admin-token.guard';

function context(method: string, headers: Record<string, string>): ExecutionContext {
  return { switchToHttp: () => ({ getRequest: () => ({ method, headers }) }) } as unknown as ExecutionContext;
}

describe('AdminTokenGuard', () => {
  const guard = (token?: string) => new AdminTokenGuard(new AdminAuth(token));
  const json = { 'content-type': 'application/json' };

  it('turns the endpoints off without a token, and the start-up log says so once', () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const auth = new AdminAuth(undefined);
      auth.onModuleInit();
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0][0]).toMatch(/IM_ADMIN_TOKEN is not set/);
      new AdminAuth('secret').onModuleInit();
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      warn.mockRestore();
    }
    expect(() => guard().canActivate(context('GET', { authorization: 'Bearer anything' }))).toThrow(NotFoundException);
  });

  it('needs the exact bearer token', () => {
    const g = guard('secret');
    expect(g.canActivate(context('GET', { authorization: 'Bearer secret' }))).toBe(true);
    for (const authorization of ['', 'Bearer', 'Bearer secre', 'Bearer secret2', 'Basic secret', 'bearer secret', 'Bearer secret x']) {
      expect(() => g.canActivate(context('GET', { authorization }))).toThrow(UnauthorizedException);
    }
  });

  it('takes commands only with a JSON body', () => {
    const g = guard('secret');
    const auth = { authorization: 'Bearer secret' };
    expect(g.canActivate(context('POST', { ...auth, ...json }))).toBe(true);
    expect(g.canActivate(context('POST', { ...auth, 'content-type': 'application/json; charset=utf-8' }))).toBe(true);
    for (const type of ['application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/plain', '']) {
      expect(() => g.canActivate(context('POST', { ...auth, 'content-type': type }))).toThrow(UnsupportedMediaTypeException);
    }
  });
});
