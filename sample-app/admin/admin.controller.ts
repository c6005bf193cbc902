import { Body, Controller, Get, Header, HttpCode, NotFoundException, Param, Post, Query, Res, UseGuards, ValidationPipe } from '@nestjs/common';
import { join } from 'path';
import { DeliveryResult, IMAdminService, IMLiveCounters, IMOnlineUserPage } from '../../lib';
import { PushBodyDto } from '../dto/push-body.dto';
import { AdminKickDto } from './admin-body.dto';
import { AdminAuth } from './admin-auth.service';
import { resolveAdminDir } from './admin-dir';
import { AdminTokenGuard } from './admin-token.guard';

/** The part of Express's response used here. */
interface Response {
  sendFile(path: string): void;
}

const body = new ValidationPipe({ transform: true, whitelist: true, forbidNonWhitelisted: true });

/**
 * The admin console (`/admin`) and its API (`/admin/api/...`). The page is
 * inert HTML and script: everything it shows comes from the API, which needs
 * the bearer token the operator types into the page.
 */
@Controller('admin')
export class AdminController {
  private readonly dir = resolveAdminDir();

  constructor(
    private readonly admin: IMAdminService,
    private readonly auth: AdminAuth,
  ) {}

  @Get()
  page(@Res() res: Response): void {
    this.assertEnabled();
    res.sendFile(join(this.dir, 'index.html'));
  }

  @Get('console.js')
  script(@Res() res: Response): void {
    this.assertEnabled();
    res.sendFile(join(this.dir, 'console.js'));
  }

  /** Online users on this node whose id contains `search`. */
  @Get('api/users')
  @UseGuards(AdminTokenGuard)
  @Header('Cache-Control', 'no-store')
  users(@Query('search') search?: string, @Query('limit') limit?: string): IMOnlineUserPage {
    const n = limit === undefined || limit === '' ? NaN : Number(limit);
    return this.admin.onlineUsers({ search, limit: Number.isFinite(n) ? n : undefined });
  }

  @Get('api/counters')
  @UseGuards(AdminTokenGuard)
  @Header('Cache-Control', 'no-store')
  counters(): IMLiveCounters {
    return this.admin.counters();
  }

  @Post('api/users/:userId/kick')
  @HttpCode(200)
  @UseGuards(AdminTokenGuard)
  async kick(@Param('userId') userId: string, @Body(body) dto: AdminKickDto): Promise<{ userId: string; kicked: boolean }> {
    return { userId, kicked: await this.admin.kick(userId, dto.reason ?? 'kicked by an administrator') };
  }

  @Post('api/users/:userId/push')
  @HttpCode(200)
  @UseGuards(AdminTokenGuard)
  push(@Param('userId') userId: string, @Body(body) dto: PushBodyDto): Promise<DeliveryResult> {
    return this.admin.push(userId, dto.data, { qos: dto.qos, typeu: dto.typeu });
  }

  private assertEnabled(): void {
    if (!this.auth.enabled) throw new NotFoundException('the admin console is off: IM_ADMIN_TOKEN is not set');
  }
}
