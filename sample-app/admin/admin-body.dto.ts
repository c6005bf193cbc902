import { IsOptional, IsString, MaxLength } from 'class-validator';

/** Body of the console's kick command. */
export class AdminKickDto {
  @IsOptional()
  @IsString()
  @MaxLength(200)
  reason?: string;
}
