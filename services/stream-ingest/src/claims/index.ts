export { CallClaims, ClaimError, claimsBucketName, type Claim, type ClaimsOptions } from './claims.js';
