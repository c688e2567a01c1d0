// One structured JSON log line per request: method, path, status, duration.
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';

export function requestLogger(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const start = process.hrtime.bigint();
    // The path only: query strings can carry identifiers such as NHS numbers.
    const path = req.originalUrl.split('?')[0];
    res.on('finish', () => {
      const durationMs = Number(process.hrtime.bigint() - start) / 1e6;
      logger.info({ method: req.method, path, status: res.statusCode, durationMs: Math.round(durationMs * 100) / 100 }, 'request');
    });
    next();
  };
}
