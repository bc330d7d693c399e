#!/usr/bin/env node
import { renderDemo } from './demo';

process.stdout.write(`${renderDemo()}\n`);
