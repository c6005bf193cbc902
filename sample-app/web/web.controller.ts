import { Controller, Get, Header, Inject, NotFoundException, Res } from '@nestjs/common';
import { existsSync } from 'fs';
import { join } from 'path';
import { IMServer } from '../../lib';
import { APP_CONFIG, AppConfig } from '../app.config';
import { defaultChatScriptPath, resolvePublicDir } from './public-dir';

/** The part of Express's response used here (@types/express is not installed). */
interface Response {
  sendFile(path: string): void;
}

/** Serves the browser chat page; an explicit file list, so no path from the URL ever reaches the file system. */
@Controller()
export class WebController {
  private readonly dir = resolvePublicDir();
  private readonly scriptPath: string;

  constructor(
    private readonly im: IMServer,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.scriptPath = config.chatScript ?? defaultChatScriptPath();
  }

  @Get()
  index(@Res() res: Response): void {
    res.sendFile(join(this.dir, 'index.html'));
  }

  /** The page's script, bundled from `sample-app/chat` with the shipped client by `npm run build`. */
  @Get('chat.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  script(@Res() res: Response): void {
    if (!existsSync(this.scriptPath)) throw new NotFoundException('chat.js is not built yet: run npm run build');
    res.sendFile(this.scriptPath);
  }

  /** The page runs on the HTTP port and needs the (possibly ephemeral) WebSocket port. */
  @Get('config.json')
  @Header('Cache-Control', 'no-store')
  config(): { wsPort: number | undefined; wsPath: string } {
    return { wsPort: this.im.ports.ws, wsPath: '/websocket' };
  }
}
