// The runtime contract probe (RuntimeContractTests), one per language, all answering the same events:
// {"action": "env" | "log" | "throw" | "exit" | "big" | "reject" | "echo" | "unserialisable" | "memory"}.
const NAMES = ['AWS_LAMBDA_FUNCTION_NAME', 'AWS_LAMBDA_FUNCTION_VERSION', 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_LOG_GROUP_NAME', 'AWS_LAMBDA_LOG_STREAM_NAME', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_EXECUTION_ENV',
  'LAMBDA_TASK_ROOT', 'LAMBDA_RUNTIME_DIR', '_HANDLER', 'TZ', 'AWS_LAMBDA_RUNTIME_API', 'AWS_LAMBDA_INITIALIZATION_TYPE',
  '_X_AMZN_TRACE_ID', 'LANG'];

if (process.env.PROBE_INIT_FAIL === '1') throw new Error('probe init failed');

exports.handler = async (event, context) => {
  switch (event.action) {
    case 'log':
      process.stdout.write('probe stdout line\n');
      process.stderr.write('probe stderr line\n');
      return 'logged';
    case 'throw':
      throw new Error('probe boom');
    case 'exit':
      process.exit(3);
    case 'big':
      return 'x'.repeat(7 * 1024 * 1024);
    case 'echo': {
      const big = event.big ?? '';
      return { text: event.text, bigLength: big.length, bigHead: big.slice(0, 2), bigTail: big.slice(-3) };
    }
    case 'unserialisable':
      return { n: 1n };
    case 'memory': {
      const rss = Number(/VmRSS:\s+(\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]);
      const child = require('child_process').execFileSync('/bin/sh', ['-c', 'printf %s "$_X_AMZN_TRACE_ID"']).toString();
      const listed = Object.keys(process.env).includes('_X_AMZN_TRACE_ID');
      return { rssKiB: rss, trace: process.env._X_AMZN_TRACE_ID ?? null, childTrace: child, listed };
    }
    case 'reject':
      Promise.reject(new Error('probe rejected'));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      return 'not reached';
    default: {
      const env = {};
      for (const name of NAMES) env[name] = process.env[name] ?? null;
      const remaining1 = context.getRemainingTimeInMillis();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const remaining2 = context.getRemainingTimeInMillis();
      return {
        env,
        context: {
          awsRequestId: context.awsRequestId,
          functionName: context.functionName,
          functionVersion: context.functionVersion,
          invokedFunctionArn: context.invokedFunctionArn,
          memoryLimitInMB: String(context.memoryLimitInMB),
          logGroupName: context.logGroupName,
          logStreamName: context.logStreamName,
          clientCustom: context.clientContext && context.clientContext.custom ? context.clientContext.custom.k : null,
          identityId: context.identity ? context.identity.cognitoIdentityId : null,
          identityPoolId: context.identity ? context.identity.cognitoIdentityPoolId : null,
        },
        remaining1,
        remaining2,
      };
    }
  }
};
