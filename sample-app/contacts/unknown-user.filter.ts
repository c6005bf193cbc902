import { Catch, ExceptionFilter } from '@nestjs/common';
import { IMException } from '../../lib';
import { UnknownUserError } from './block-list.service';

/** IM error code of a command that names an unknown user (applications use codes above 1024). */
export const NO_SUCH_USER = 1104;

/** Maps the domain error to an IM error packet for the client. */
@Catch(UnknownUserError)
export class UnknownUserFilter implements ExceptionFilter {
  catch(error: UnknownUserError): never {
    throw new IMException(NO_SUCH_USER, error.message);
  }
}
