export function registerTerminologyOperations(): void {}
