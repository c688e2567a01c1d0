/** What a validation thread says once it has loaded the definitions and can validate. */
export const READY = 'ready';
