import { IsBoolean, IsOptional, IsString, Length } from 'class-validator';

/** Body of a C2S BLOCK command (typeu 102), e.g. `{"user":"bob"}` or `{"user":"bob","unblock":true}`. */
export class BlockCommandDto {
  @IsString()
  @Length(1, 64)
  user!: string;

  @IsOptional()
  @IsBoolean()
  unblock?: boolean;
}
