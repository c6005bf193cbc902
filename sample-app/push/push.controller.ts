import { Body, Controller, Get, HttpCode, Param, Post, UseGuards, ValidationPipe } from '@nestjs/common';
import { DeliveryResult, PushService } from '../../lib';
import { AdminTokenGuard } from '../admin/admin-token.guard';
import { KickBodyDto, PushBodyDto } from '../dto/push-body.dto';

/** Local to these parameters so IM handlers are not affected by an HTTP-oriented global pipe. */
const body = new ValidationPipe({ transform: true, whitelist: true, forbidNonWhitelisted: true });

/**
 * Admin/backend REST API over PushService. POSTs answer 200, not 201: they
 * are commands, nothing is created. The commands need the admin bearer token
 * and a JSON body (AdminTokenGuard); without IM_ADMIN_TOKEN they are off.
 */
@Controller()
export class PushController {
  constructor(private readonly push: PushService) {}

  /** Waits for the outcome: delivered (ACKed), lost (no ACK after the retransmission), offline, or sent (qos false). */
  @Post('push/:userId')
  @HttpCode(200)
  @UseGuards(AdminTokenGuard)
  send(@Param('userId') userId: string, @Body(body) dto: PushBodyDto): Promise<DeliveryResult> {
    return this.push.send(userId, dto.data, { qos: dto.qos, typeu: dto.typeu });
  }

  /** One result per user online when the request arrived. */
  @Post('broadcast')
  @HttpCode(200)
  @UseGuards(AdminTokenGuard)
  broadcast(@Body(body) dto: PushBodyDto): Promise<DeliveryResult[]> {
    return this.push.broadcast(dto.data, { qos: dto.qos, typeu: dto.typeu });
  }

  @Get('online')
  online(): { count: number; users: string[] } {
    const users = this.push.onlineUsers();
    return { count: users.length, users };
  }

  /** `kicked: false` when the user was not online. */
  @Post('kick/:userId')
  @HttpCode(200)
  @UseGuards(AdminTokenGuard)
  async kick(@Param('userId') userId: string, @Body(body) dto: KickBodyDto): Promise<{ userId: string; kicked: boolean }> {
    return { userId, kicked: await this.push.kick(userId, dto.reason) };
  }
}
