import { Controller, Get, Header, Res } from '@nestjs/common';
import { join } from 'path';
import { IMServer } from '../../lib';
import { resolvePublicDir } from './public-dir';

/** The part of Express's response used here (@types/express is not installed). */
interface Response {
  sendFile(path: string): void;
}

/** Serves the browser chat page; an explicit file list, so no path from the URL ever reaches the file system. */
@Controller()
export class WebController {
  private readonly dir = resolvePublicDir();

  constructor(private readonly im: IMServer) {}

  @Get()
  index(@Res() res: Response): void {
    res.sendFile(join(this.dir, 'index.html'));
  }

  @Get('chat.js')
  script(@Res() res: Response): void {
    res.sendFile(join(this.dir, 'chat.js'));
  }

  /** The page runs on the HTTP port and needs the (possibly ephemeral) WebSocket port. */
  @Get('config.json')
  @Header('Cache-Control', 'no-store')
  config(): { wsPort: number | undefined; wsPath: string } {
    return { wsPort: this.im.ports.ws, wsPath: '/websocket' };
  }
}
