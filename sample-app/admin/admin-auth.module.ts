import { DynamicModule, Module } from '@nestjs/common';
import { ADMIN_TOKEN, AdminAuth } from './admin-auth.service';

/**
 * Global, so that the guard also resolves in modules the app does not own:
 * /metrics is a controller of PrometheusModule.
 */
@Module({})
export class AdminAuthModule {
  static forRoot(token: string | undefined): DynamicModule {
    return {
      module: AdminAuthModule,
      global: true,
      providers: [{ provide: ADMIN_TOKEN, useValue: token }, AdminAuth],
      exports: [AdminAuth],
    };
  }
}
