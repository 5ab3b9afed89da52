// Copyright (c) .NET Foundation. All rights reserved.
// Licensed under the MIT License.

import { app, InvocationContext, Timer } from '@azure/functions';

export async function timerTrigger(_myTimer: Timer, context: InvocationContext): Promise<void> {
    context.log('timerTrigger was triggered');
}

app.timer('timerTrigger', {
    schedule: '*/30 * * * * *',
    handler: timerTrigger,
});
