import { ConfigurableModuleBuilder } from '@nestjs/common';
import { IMModuleOptions } from './im-options.interface';

/** `IMModule.forRoot()` / `forRootAsync()` with an `isGlobal` extra. */
export const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN: IM_MODULE_OPTIONS, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } =
  new ConfigurableModuleBuilder<IMModuleOptions>({ moduleName: 'IM' })
    .setClassMethodName('forRoot')
    .setExtras({ isGlobal: false }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
    .build();

/** Injection token of the options after defaults ({@link ResolvedIMOptions}). */
export const IM_RESOLVED_OPTIONS = Symbol('nestjs-im:resolved-options');
