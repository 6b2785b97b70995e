/** `npm run doctor -- --stack <stack>`: says, per member, why a join is stuck (program/doctor.ts). Changes nothing. */
import { main } from "./program/doctor";

main(process.argv.slice(2)).then((code) => process.exit(code));
