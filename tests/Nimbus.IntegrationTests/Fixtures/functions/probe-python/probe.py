# The runtime contract probe (RuntimeContractTests): {"action": "env" | "log" | "throw" | "exit" | "big" | "echo" | "unserialisable"
# | "memory"}.
import os
import subprocess
import sys
import time

NAMES = ['AWS_LAMBDA_FUNCTION_NAME', 'AWS_LAMBDA_FUNCTION_VERSION', 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
         'AWS_LAMBDA_LOG_GROUP_NAME', 'AWS_LAMBDA_LOG_STREAM_NAME', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_EXECUTION_ENV',
         'LAMBDA_TASK_ROOT', 'LAMBDA_RUNTIME_DIR', '_HANDLER', 'TZ', 'AWS_LAMBDA_RUNTIME_API', 'AWS_LAMBDA_INITIALIZATION_TYPE',
         '_X_AMZN_TRACE_ID', 'LANG']

if os.environ.get('PROBE_INIT_FAIL') == '1':
    raise RuntimeError('probe init failed')


def handler(event, context):
    action = event.get('action')
    if action == 'log':
        print('probe stdout line', flush=True)
        print('probe stderr line', file=sys.stderr, flush=True)
        return 'logged'
    if action == 'throw':
        raise Exception('probe boom')
    if action == 'exit':
        os._exit(3)
    if action == 'big':
        return 'x' * (7 * 1024 * 1024)
    if action == 'echo':
        big = event.get('big', '')
        return {'text': event.get('text'), 'bigLength': len(big), 'bigHead': big[:2], 'bigTail': big[-3:]}
    if action == 'unserialisable':
        return {'set': {1, 2}}
    if action == 'memory':
        with open('/proc/self/status') as f:
            rss = next(int(line.split()[1]) for line in f if line.startswith('VmRSS:'))
        child = subprocess.run(['/bin/sh', '-c', 'printf %s "$_X_AMZN_TRACE_ID"'], capture_output=True, check=True)
        return {'rssKiB': rss, 'trace': os.environ.get('_X_AMZN_TRACE_ID'), 'childTrace': child.stdout.decode()}
    remaining1 = context.get_remaining_time_in_millis()
    time.sleep(0.05)
    remaining2 = context.get_remaining_time_in_millis()
    client = context.client_context
    custom = getattr(client, 'custom', None) if client is not None else None
    return {
        'env': {name: os.environ.get(name) for name in NAMES},
        'context': {
            'awsRequestId': context.aws_request_id,
            'functionName': context.function_name,
            'functionVersion': context.function_version,
            'invokedFunctionArn': context.invoked_function_arn,
            'memoryLimitInMB': str(context.memory_limit_in_mb),
            'logGroupName': context.log_group_name,
            'logStreamName': context.log_stream_name,
            'clientCustom': custom.get('k') if isinstance(custom, dict) else None,
            'identityId': context.identity.cognito_identity_id,
            'identityPoolId': context.identity.cognito_identity_pool_id,
        },
        'remaining1': remaining1,
        'remaining2': remaining2,
    }
