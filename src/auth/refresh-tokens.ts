/** Refresh tokens are long random opaque strings; only their SHA-256 is ever stored. */
import { hash, randomBytes } from 'node:crypto';

export const newRefreshToken = () => randomBytes(32).toString('base64url');
export const hashRefreshToken = (token: string) => hash('sha256', token, 'hex');
