import * as path from 'path';

/** The recorded MobileIMSDK scenarios, kept in the repository (see scenarios/README.md for their origin). */
export const SCENARIO_DIR = path.join(__dirname, 'scenarios');
