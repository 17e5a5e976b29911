import '../test/setup.ts'
import { benchToken, printToken } from './token.ts'
printToken(await benchToken())
