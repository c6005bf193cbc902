import { IMClient, WsLink } from 'nestjs-im/client';

/** What a browser or Node front end imports: the client entry point alone. */
export function chatClient(url: string): IMClient {
  return new IMClient(new WsLink({ url }), { senseMode: '5S' });
}
