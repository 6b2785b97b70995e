/** `npm run remove-member -- --stack <stack> --member <name> [--dry-run]`: removes a member that is gone for good (program/removeMember.ts). */
import { main } from "./program/removeMember";

main(process.argv.slice(2)).then((code) => process.exit(code));
