// Copyright (c) .NET Foundation. All rights reserved.
// Licensed under the MIT License.

import { app } from '@azure/functions';

app.setup({ enableHttpStream: true });
