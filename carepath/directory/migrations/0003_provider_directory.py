
import carepath.directory.models
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('directory', '0002_shipped_specialties'),
    ]

    operations = [
        migrations.CreateModel(
            name='Provider',
            fields=[
                ('npi', models.CharField(max_length=10, primary_key=True, serialize=False, validators=[carepath.directory.models.validate_npi], verbose_name='NPI')),
                ('entity_type', models.PositiveSmallIntegerField(choices=[(1, 'Individual'), (2, 'Organization')])),
                ('organization_name', models.CharField(blank=True, max_length=300)),
                ('last_name', models.CharField(blank=True, max_length=100)),
                ('first_name', models.CharField(blank=True, max_length=100)),
                ('middle_name', models.CharField(blank=True, max_length=100)),
                ('name_prefix', models.CharField(blank=True, max_length=20)),
                ('name_suffix', models.CharField(blank=True, max_length=20)),
                ('credential', models.CharField(blank=True, max_length=100)),
                ('sex', models.CharField(blank=True, max_length=1)),
                ('enumeration_date', models.DateField(blank=True, null=True)),
                ('last_updated', models.DateField(blank=True, null=True)),
                ('active', models.BooleanField(default=True)),
                ('accepting_new_patients', models.BooleanField(blank=True, null=True)),
                ('languages', models.CharField(blank=True, help_text='Comma-separated, where known', max_length=200)),
                ('is_synthetic', models.BooleanField(default=False, help_text='Demo data, not a real provider')),
                ('rating_count', models.PositiveIntegerField(default=0)),
                ('rating_sum', models.PositiveIntegerField(default=0)),
                ('rating_score', models.FloatField(default=3.5, help_text='Bayesian average, for ordering')),
            ],
            options={
                'indexes': [models.Index(fields=['active', '-rating_score'], name='directory_p_active_ac7259_idx')],
            },
        ),
        migrations.CreateModel(
            name='PracticeLocation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('is_primary', models.BooleanField(default=True)),
                ('address_line1', models.CharField(blank=True, max_length=200)),
                ('address_line2', models.CharField(blank=True, max_length=200)),
                ('city', models.CharField(max_length=100)),
                ('state', models.CharField(max_length=2)),
                ('zip5', models.CharField(max_length=5, verbose_name='ZIP code')),
                ('phone', models.CharField(blank=True, max_length=20)),
                ('latitude', models.FloatField(blank=True, null=True)),
                ('longitude', models.FloatField(blank=True, null=True)),
                ('provider', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='locations', to='directory.provider')),
            ],
            options={
                'indexes': [models.Index(fields=['latitude', 'longitude'], name='directory_p_latitud_74af5d_idx')],
            },
        ),
        migrations.CreateModel(
            name='ProviderReview',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('email', models.EmailField(help_text='Never shown; one review per address per provider', max_length=254)),
                ('display_name', models.CharField(blank=True, help_text='Shown with the review; optional', max_length=60)),
                ('stars', models.PositiveSmallIntegerField(choices=[(1, '1 stars'), (2, '2 stars'), (3, '3 stars'), (4, '4 stars'), (5, '5 stars')])),
                ('text', models.TextField(blank=True, max_length=2000)),
                ('attested_visit', models.BooleanField(default=False)),
                ('status', models.CharField(choices=[('unconfirmed', 'Waiting for e-mail confirmation'), ('pending', 'Waiting for moderation'), ('published', 'Published'), ('rejected', 'Rejected')], db_index=True, default='unconfirmed', max_length=12)),
                ('rejection_reason', models.CharField(blank=True, max_length=300)),
                ('token', models.CharField(max_length=64, unique=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('confirmed_at', models.DateTimeField(blank=True, null=True)),
                ('moderated_at', models.DateTimeField(blank=True, null=True)),
                ('is_synthetic', models.BooleanField(default=False)),
                ('provider', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='reviews', to='directory.provider')),
            ],
            options={
                'ordering': ['-created_at'],
                'indexes': [models.Index(fields=['provider', 'status'], name='directory_p_provide_9ba198_idx')],
            },
        ),
        migrations.CreateModel(
            name='ProviderSpecialty',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('is_primary', models.BooleanField(default=False)),
                ('provider', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='specialties', to='directory.provider')),
                ('taxonomy', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='provider_specialties', to='directory.taxonomy')),
            ],
            options={
                'indexes': [models.Index(fields=['taxonomy', 'provider'], name='directory_p_taxonom_5c95cc_idx')],
                'constraints': [models.UniqueConstraint(fields=('provider', 'taxonomy'), name='unique_provider_taxonomy')],
            },
        ),
    ]
