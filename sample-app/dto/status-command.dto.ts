import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';

export const STATUSES = ['online', 'away', 'busy'] as const;

/** Body of a C2S STATUS command (typeu 101), e.g. `{"status":"away","message":"lunch"}`. */
export class StatusCommandDto {
  @IsIn(STATUSES)
  status!: (typeof STATUSES)[number];

  @IsOptional()
  @IsString()
  @MaxLength(140)
  message?: string;
}
