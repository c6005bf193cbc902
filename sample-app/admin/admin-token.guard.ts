import {
  CanActivate, ExecutionContext, Injectable, NotFoundException, UnauthorizedException, UnsupportedMediaTypeException,
} from '@nestjs/common';
import { AdminAuth } from './admin-auth.service';

/** The part of an Express request read here (@types/express is not installed). */
interface Request {
  method: string;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * Admin endpoints: off (404) without `IM_ADMIN_TOKEN`; otherwise the request
 * needs `Authorization: Bearer <token>`, and a command (POST) needs a JSON
 * body. A cross-site HTML form can send neither, and no cookie is ever
 * accepted, so another site cannot drive these endpoints through a browser.
 */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  constructor(private readonly auth: AdminAuth) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<Request>();
    if (!this.auth.enabled) throw new NotFoundException('admin endpoints are off: IM_ADMIN_TOKEN is not set');
    if (!this.auth.accepts(header(req, 'authorization'))) throw new UnauthorizedException('a valid bearer token is required');
    if (req.method !== 'GET' && req.method !== 'HEAD' && !/^application\/json\b/i.test(header(req, 'content-type') ?? '')) {
      throw new UnsupportedMediaTypeException('commands take an application/json body');
    }
    return true;
  }
}

function header(req: Request, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
