export declare const START_SCRIPT_ASSIGNMENT: RegExp;
export declare function startScriptEnv(): Record<string, string>;
