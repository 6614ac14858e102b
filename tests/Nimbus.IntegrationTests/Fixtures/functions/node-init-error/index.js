throw new Error('init failed');
