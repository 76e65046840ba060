/** Browser entry of `npm run bench:jax -- --runtime chromium`: the jax-js cases, callable from Node. */
import { exposeToNode } from '../src/chromium/page-rpc.js';
import { jaxBenchReady, timeJaxCase } from './jax-cases.js';

const pageFunctions = { jaxBenchReady, timeJaxCase };
/** What the page offers. */
export type JaxBenchApi = typeof pageFunctions;
exposeToNode(pageFunctions);
