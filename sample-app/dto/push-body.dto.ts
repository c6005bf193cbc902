import { IsBoolean, IsInt, IsOptional, IsString, MaxLength, ValidateBy, ValidationOptions } from 'class-validator';

/** `data` may be text or any JSON object (sent as JSON text), but not a number, boolean or null. */
function IsStringOrObject(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isStringOrObject',
      validator: {
        validate: (v: unknown) => typeof v === 'string' || (typeof v === 'object' && v !== null),
        defaultMessage: () => 'data must be a string or a JSON object',
      },
    },
    options,
  );
}

/** Body of `POST /push/:userId` and `POST /broadcast`. */
export class PushBodyDto {
  @IsStringOrObject()
  data!: string | object;

  /** Default true: wait for the client's ACK and report delivered/lost. */
  @IsOptional()
  @IsBoolean()
  qos?: boolean;

  @IsOptional()
  @IsInt()
  typeu?: number;
}

/** Body of `POST /kick/:userId`; the body itself is optional. */
export class KickBodyDto {
  @IsOptional()
  @IsString()
  @MaxLength(200)
  reason?: string;
}
